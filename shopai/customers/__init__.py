"""Customer behaviour: who will buy again, when and for how much, and who is drifting away."""
