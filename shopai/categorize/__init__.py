"""Category suggestions from product text and photos, learned from the shop's own labels."""
