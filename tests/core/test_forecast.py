"""Forecast core: methods recover known structure, the backtest never peeks, bad input never crashes."""
from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from shopai.forecast import methods as M
from shopai.forecast.backtest import H, fit_one, fit_panel, naive_scale, run_backtest
from shopai.forecast.ets import ets_batch, ets_forecast, fit_ets
from shopai.forecast.series import (
    WeeklySeries, cap_outliers, demand_class, is_product_code, monday, price_series, sales_series,
)
from shopai.jobs import Progress, run_job

START = date(2022, 1, 3)  # a Monday


def _series(values, what="sales", key="X"):
    v = np.asarray(values, float)
    return WeeklySeries(key, what, START, v, v.copy(), np.ones(len(v), bool), np.zeros(len(v), bool))


# --- methods recover known trend and seasonality ------------------------------------------------

def test_trend_recovered_by_drift_ets_and_decomposition():
    rng = np.random.default_rng(1)
    t = np.arange(60)
    y = 20 + 1.5 * t + rng.normal(0, 0.5, 60)
    truth = 20 + 1.5 * np.arange(60, 68)
    assert np.allclose(M.drift(y, 8), truth, atol=2.5)
    assert np.allclose(ets_forecast(y, 8), truth, atol=3.0)
    assert np.allclose(M.decomposition(y, 8, m=13), truth, atol=3.0)
    # a naive rule misses the trend by far more
    assert np.abs(M.naive(y, 8) - truth).mean() > 5


def test_seasonality_recovered_by_seasonal_naive_and_decomposition():
    rng = np.random.default_rng(2)
    m = 13
    t = np.arange(5 * m)
    season = 10 * np.sin(2 * np.pi * t / m)
    y = 50 + 0.2 * t + season + rng.normal(0, 0.3, len(t))
    future = np.arange(len(t), len(t) + 8)
    truth = 50 + 0.2 * future + 10 * np.sin(2 * np.pi * future / m)
    dec = M.decomposition(y, 8, m=m)
    assert np.abs(dec - truth).max() < 2.0
    sn = M.seasonal_naive(y, 8, m=m)
    assert np.abs(sn - truth).max() < 4.0
    assert np.abs(M.moving_average(y, 8) - truth).mean() > 3


def test_seasonal_methods_step_aside_without_a_season():
    y = np.arange(10.0)
    assert np.allclose(M.seasonal_naive(y, 3), [9, 9, 9])
    assert np.all(np.isfinite(M.decomposition(y, 3)))


def test_ets_fit_with_scipy_and_grid_agree_on_level():
    rng = np.random.default_rng(3)
    y = 100 + rng.normal(0, 2, 40)
    model = fit_ets(y)
    assert model["form"] in {"ses", "damped"}
    single = ets_forecast(y, 4, model)
    batch, _ = ets_batch(y[None, :], 4)
    assert abs(single[0] - 100) < 3 and abs(batch[0, 0] - 100) < 3


def test_croston_and_tsb_on_intermittent_demand():
    y = np.array([0, 0, 4, 0, 0, 0, 4, 0, 0, 4, 0, 0] * 3, float)  # 4 units every ~3.3 weeks
    rate = y.mean()
    assert abs(M.croston(y, 4)[0] - rate) < 0.5
    assert abs(M.tsb(y, 4)[0] - rate) < 0.5
    assert demand_class(y) == "intermittent"
    dead = np.r_[y, np.zeros(30)]  # stopped selling: TSB decays towards zero, Croston does not
    assert M.tsb(dead, 1)[0] < M.croston(dead, 1)[0]


# --- the backtest never peeks ---------------------------------------------------------------------

def _panel(n=24, T=40, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.uniform(5, 50, (n, 1))
    Y = np.maximum(base + rng.normal(0, 3, (n, T)).cumsum(axis=1) * 0.3, 0)
    starts = np.zeros(n, int)
    Y[0, :5] = np.nan
    starts[0] = 5
    return Y, starts


def _errors(Y, starts, origins, use_global):
    out = None
    for item in run_backtest(Y, starts, origins, "sales", use_global=use_global, global_steps=40):
        if not isinstance(item, Progress):
            out = item["errors"]
    return out


@pytest.mark.parametrize("use_global", [False, True])
def test_backtest_never_peeks_at_the_future(use_global):
    Y, starts = _panel()
    cut = 28
    origins = [14, 20]  # windows end at 22 and 28: all before the poisoned weeks
    clean = _errors(Y, starts, origins, use_global)
    poisoned = Y.copy()
    poisoned[:, cut:] = 1e9  # a method that looks past its origin would see these
    dirty = _errors(poisoned, starts, origins, use_global)
    for a, b in zip(clean, dirty):
        assert a.keys() == b.keys()
        for name in a:
            for (s1, e1, m1, *_), (s2, e2, m2, *_) in zip(a[name], b[name]):
                assert np.allclose(e1, e2), name
                assert m1 == pytest.approx(m2), name


def test_peek_detector_can_fail():
    """The poisoning check is real: poisoning inside a scored window does change the scores."""
    Y, starts = _panel()
    clean = _errors(Y, starts, [20], False)
    poisoned = Y.copy()
    poisoned[:, 24:] = 1e9
    dirty = _errors(poisoned, starts, [20], False)
    assert not np.allclose(clean[1]["naive"][0][1], dirty[1]["naive"][0][1])


def test_fit_one_chooses_by_backtest_and_bands_cover():
    rng = np.random.default_rng(4)
    y = 30 + 0.8 * np.arange(50) + rng.normal(0, 1, 50)
    fit = fit_one(_series(y[:42]), horizon=8)
    assert fit.method in {"drift", "ets", "decomposition"}
    assert fit.scores[fit.method]["mase"] <= fit.scores["naive"]["mase"]
    inside = (y[42:] >= fit.lo) & (y[42:] <= fit.hi)
    assert inside.mean() >= 0.6
    assert np.all(fit.lo <= fit.forecast) and np.all(fit.forecast <= fit.hi)


def test_panel_bands_are_calibrated_on_noise():
    rng = np.random.default_rng(5)
    n, T = 60, 48
    level = rng.uniform(10, 40, (n, 1))
    Y = level + rng.normal(0, 2, (n, T + 8))
    series = [_series(row[:T], key=str(i)) for i, row in enumerate(Y)]
    fits = run_job(fit_panel(series, "sales", horizon=8, use_global=False))
    actual = Y[:, T:]
    inside = np.array([(a >= f.lo) & (a <= f.hi) for a, f in zip(actual, fits)])
    assert 0.7 <= inside.mean() <= 0.92


def test_fit_panel_with_global_model_runs_and_forecasts_every_series():
    Y, starts = _panel(n=24, T=36)
    series = [WeeklySeries(str(i), "sales", START + timedelta(weeks=int(starts[i])), row[starts[i]:],
                           row[starts[i]:], np.ones(len(row) - starts[i], bool), np.zeros(len(row) - starts[i], bool))
              for i, row in enumerate(Y)]
    fits = run_job(fit_panel(series, "sales", horizon=10, global_steps=40))
    assert len(fits) == 24
    for f in fits:
        assert len(f.forecast) == 10 and np.all(np.isfinite(f.forecast)) and np.all(f.forecast >= 0)
        assert "global" in f.scores and "combo" in f.scores


def test_fit_panel_closes_cleanly_when_cancelled():
    Y, _ = _panel()
    gen = fit_panel([_series(r, key=str(i)) for i, r in enumerate(Y)], "sales", global_steps=40)
    next(gen)
    gen.close()  # no exception, nothing left running


# --- series building and bad input ----------------------------------------------------------------

def test_weeks_start_on_monday_and_dates_any_order_duplicates_summed():
    recs = [("2024-03-07T10:00:00", 2), ("2024-03-04T09:00:00", 1), ("2024-03-07T10:00:00", 2),
            ("2024-02-26 12:00:00", 5), ("2024-03-20T08:00:00", -3)]
    s = sales_series("A", recs, end_week=monday("2024-03-21"))
    assert s.start == date(2024, 2, 26) and s.start.weekday() == 0
    assert list(s.raw) == [5, 5, 0, 0]
    assert "2 weeks with no sales" in s.notes
    assert s.future_weeks(2) == [date(2024, 3, 25), date(2024, 4, 1)]


def test_huge_outlier_is_capped_and_visible():
    raw = np.r_[np.full(20, 10.0), 80995.0, np.full(5, 12.0)]
    capped, mask = cap_outliers(raw)
    assert mask.sum() == 1 and capped.max() < 200
    recs = [(START + timedelta(weeks=i), v) for i, v in enumerate(raw)]
    s = sales_series("A", recs)
    assert s.outlier.sum() == 1 and s.raw.max() == 80995
    assert "1 unusually large week capped for fitting" in s.notes
    fit = fit_one(s, 8)
    assert fit.forecast.max() < 100


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_very_short_histories_fall_back_sensibly(n):
    s = _series(np.arange(1, n + 1) * 2.0)
    fit = fit_one(s, 8)
    assert len(fit.forecast) == 8 and np.all(np.isfinite(fit.forecast))
    assert np.all(fit.lo <= fit.forecast) and np.all(fit.forecast <= fit.hi)
    assert np.all(fit.hi > fit.lo)
    assert any("rough" in note or "little history" in note for note in fit.notes)


def test_constant_prices_and_all_zero_weeks():
    flat = fit_one(_series(np.full(30, 4.95), what="price"), 6)
    assert np.allclose(flat.forecast, 4.95)
    assert np.allclose(flat.lo, 4.95) and np.allclose(flat.hi, 4.95)
    zeros = fit_one(_series(np.zeros(20)), 4)
    assert np.allclose(zeros.forecast, 0) and np.all(zeros.lo >= 0)
    assert naive_scale(np.zeros(5)) > 0


def test_price_series_prefers_customer_price_list_and_fills_gaps():
    recs = []
    for week in range(10):
        if week == 4:
            continue  # no sale that week
        d = START + timedelta(weeks=week)
        recs += [(d, 2.95, True), (d, 2.95, True), (d, 5.79, False)]
    s = price_series("P", recs)
    assert np.allclose(s.values, 2.95)
    assert not s.observed[4] and s.observed.sum() == 9
    assert "1 week without a sale: last price carried forward" in s.notes
    assert any("customer" in n for n in s.notes)
    with_change = price_series("P", recs, list_changes=[(START + timedelta(weeks=12), 3.25)])
    assert with_change.values[-1] == pytest.approx(3.25)


def test_bad_price_records_are_skipped():
    s = price_series("P", [(START, "abc", True), (START, -1, True), (START, float("nan"), True), (START, 3.0, True)])
    assert list(s.values) == [3.0]
    empty = price_series("P", [])
    assert len(empty) == 0


def test_non_product_codes():
    for code in ("POST", "DOT", "M", "BANK CHARGES", "gift_0001_20", "DCGSSBOY", "AMAZONFEE"):
        assert not is_product_code(code)
    for code in ("85123A", "22423", "10002"):
        assert is_product_code(code)


def test_horizon_longer_than_backtest_window():
    rng = np.random.default_rng(6)
    fit = fit_one(_series(20 + rng.normal(0, 1, 40)), horizon=26)
    assert len(fit.forecast) == 26
    width = fit.hi - fit.lo
    assert width[-1] >= width[H - 1]


# --- honest baselines, scores and ranges ------------------------------------------------------------

def test_same_as_last_year_is_only_scored_with_a_year_before_the_origin():
    from shopai.forecast.api import baseline, sentence

    short = fit_one(_series(20 + np.arange(30.0)), 8)  # under a year: it would just be "same as last week"
    assert "seasonal_naive" not in short.scores and "naive" in short.scores
    rng = np.random.default_rng(7)
    series = [_series(10 + 0.5 * np.arange(56) + rng.normal(0, 1, 56), key=str(i)) for i in range(3)]
    fits = run_job(fit_panel(series, "sales", horizon=8, use_global=False))
    for s, f in zip(series, fits):  # origins 16-8 weeks before the end: under 52 weeks before each
        assert "seasonal_naive" not in f.scores
        assert baseline(f) == "naive"
        text = sentence(s, f, 8)
        assert "last year" not in text and "same as last week" in text
    one = fit_one(series[0], 8)  # ten origins, only the newest have a year before them
    sn = one.scores["seasonal_naive"]
    assert sn["origins"] < one.scores["naive"]["origins"]
    assert one.method != "seasonal_naive" and baseline(one) == "naive"


def test_smape_is_not_claimed_when_nothing_sold_in_the_tested_weeks():
    fit = fit_one(_series(np.r_[[4.0, 2, 6, 3, 5, 1, 2], np.zeros(20)]), 8)
    assert fit.scores and all(sc["smape"] is None for sc in fit.scores.values())
    assert all(np.isfinite(sc["mase"]) for sc in fit.scores.values())


@pytest.mark.parametrize("values, lo_max, hi_min", [([2.0], 0.5, 4.5), ([100.0], 30, 200), ([10.0, 10, 10], 5, 15)])
def test_a_week_or_two_of_sales_gets_an_honestly_wide_range(values, lo_max, hi_min):
    fit = fit_one(_series(values), 8)
    assert fit.lo[0] <= lo_max and fit.hi[0] >= hi_min
    assert np.all(np.diff(fit.hi - fit.lo) >= -1e-9)
