import datetime as dt

import numpy as np
import pytest

from sim.model.calendar import BusinessCalendar
from sim.model.units import Duration


def test_business_days_skip_weekends():
    cal = BusinessCalendar("US", dt.date(2026, 11, 27), 60)  # a Friday
    end = cal.after(15.0, Duration(3, True))  # Friday 15:00 + 3 business days
    assert cal.date_of(end) == dt.date(2026, 12, 2) and end % 24 == pytest.approx(15.0)


def test_us_holidays_are_not_working_days():
    cal = BusinessCalendar("US", dt.date(2026, 12, 24), 30)  # Thursday before Christmas
    end = cal.after(12.0, Duration(1, True))  # half of Thu, Fri 25 Dec off, weekend, Mon
    assert cal.date_of(end) == dt.date(2026, 12, 28)


def test_china_make_up_working_sunday_counts():
    # 2026-01-01 holiday, 02 day off, 03 Saturday, 04 Sunday is a make-up working day.
    cal = BusinessCalendar("CN", dt.date(2026, 1, 1), 60)
    end = cal.after(12.0, Duration(1, True))
    assert end == pytest.approx(4 * 24.0)  # the end of Sunday 4 January


def test_zero_business_days_do_not_move_time():
    cal = BusinessCalendar("US", dt.date(2026, 11, 28), 30)  # a Saturday
    assert cal.after(15.0, Duration(0, True)) == 15.0


def test_clock_durations_ignore_the_calendar():
    cal = BusinessCalendar("CN", dt.date(2026, 1, 1), 10)
    assert cal.after(5.0, Duration(30.0)) == 35.0


def test_local_day_follows_start_offset():
    cal = BusinessCalendar("none", dt.date(2026, 3, 2), 10, hour_offset=6.0)
    assert cal.day_of(17.9) == 0 and cal.day_of(18.0) == 1


def test_outside_the_calendar_is_an_error(monkeypatch):
    import sim.model.calendar as calendar

    monkeypatch.setattr(calendar, "GROWTH_DAYS", 10)
    cal = BusinessCalendar("none", dt.date(2026, 3, 2), 5)
    assert cal.after(0.0, Duration(14, True)) == 14 * 24.0  # grown to its limit of 15 days
    assert len(cal.working) == 15
    with pytest.raises(ValueError, match="^day 15 lies outside the 15-day calendar"):
        cal.after(0.0, Duration(16, True))
    with pytest.raises(ValueError, match="outside"):
        cal.after_each(np.array([0.0, 24.0]), Duration(16, True))


def test_a_calendar_grows_with_the_holidays_of_its_country():
    grown = BusinessCalendar("US", dt.date(2026, 3, 2), 3)
    whole = BusinessCalendar("US", dt.date(2026, 3, 2), 400)
    amount = 250.0
    assert grown.add_business_days(5.0, amount) == whole.add_business_days(5.0, amount)
    times = np.linspace(0, 48, 7)
    assert np.array_equal(
        BusinessCalendar("US", dt.date(2026, 3, 2), 3).after_each(times, Duration(amount, True)),
        whole.after_each(times, Duration(amount, True)),
    )


def test_many_times_at_once_agree_with_one_at_a_time():
    import numpy as np

    cal = BusinessCalendar("CN", dt.date(2026, 1, 1), 90, hour_offset=3.0)
    hours = np.linspace(0, 24 * 40, 997)
    for duration in (Duration(2.5, True), Duration(7, True), Duration(0, True), Duration(30.0)):
        each = cal.after_each(hours, duration)
        one = [cal.after(h, duration) for h in hours]
        assert np.allclose(each, one, rtol=0, atol=1e-9)


def test_business_days_by_hand_in_a_plain_week():
    """2026-03-02 is a Monday; the `US` calendar has no holiday that week."""
    import numpy as np

    cal = BusinessCalendar("US", dt.date(2026, 3, 2), 30)
    assert cal.working[:14].tolist() == [1, 1, 1, 1, 1, 0, 0] * 2
    monday = 0.0
    assert cal.after(monday, Duration(0.5, True)) == pytest.approx(12.0)  # half of Monday
    assert cal.after(monday, Duration(1, True)) == pytest.approx(24.0)  # Monday's end
    assert cal.after(6.0, Duration(1, True)) == pytest.approx(30.0)  # Tuesday 06:00
    assert cal.after(monday, Duration(5, True)) == pytest.approx(5 * 24.0)  # Friday's end
    assert cal.after(monday, Duration(5.25, True)) == pytest.approx(7 * 24.0 + 6)  # next Mon
    friday_noon = 4 * 24 + 12.0
    assert cal.after(friday_noon, Duration(1, True)) == pytest.approx(7 * 24 + 12.0)
    saturday_ten = 5 * 24 + 10.0  # a weekend start counts from the next working day
    assert cal.after(saturday_ten, Duration(1, True)) == pytest.approx(8 * 24.0)
    assert cal.after(saturday_ten, Duration(0.5, True)) == pytest.approx(7 * 24 + 12.0)
    hours = np.array([monday, 6.0, friday_noon, saturday_ten])
    assert cal.after_each(hours, Duration(1, True)).tolist() == pytest.approx(
        [24.0, 30.0, 7 * 24 + 12.0, 8 * 24.0]
    )
    assert cal.after_each(hours, Duration(0, True)).tolist() == hours.tolist()
    assert cal.after_each(hours, Duration(2.0)).tolist() == (hours + 2).tolist()


def test_the_start_hour_shifts_local_days():
    """Simulation time 0 is 20:00 local: 4 h later it is Tuesday 00:00."""
    cal = BusinessCalendar("US", dt.date(2026, 3, 2), 30, hour_offset=20.0)
    assert cal.day_of(3.99) == 0 and cal.day_of(4.0) == 1
    assert cal.date_of(4.0) == dt.date(2026, 3, 3)
    assert cal.first_day == dt.date(2026, 3, 2) and cal.country == "US"
    # Monday 20:00 + 0.5 business days: the last 4 h of Monday, then 8 h of Tuesday
    assert cal.after(0.0, Duration(0.5, True)) == pytest.approx(12.0)
    # Friday 20:00 + 1 business day: Friday's last 4 h, then Monday until 20:00
    friday = 4 * 24.0
    assert cal.after(friday, Duration(1, True)) == pytest.approx(friday + 3 * 24)


def test_no_calendar_counts_every_day():
    cal = BusinessCalendar("none", dt.date(2026, 3, 7), 10)  # a Saturday
    assert cal.working.tolist() == [1] * 10
    assert cal.after(0.0, Duration(2, True)) == pytest.approx(48.0)


def test_a_day_before_the_calendar_is_an_error():
    cal = BusinessCalendar("none", dt.date(2026, 3, 2), 5)
    with pytest.raises(ValueError, match="day -1 lies outside the 5-day calendar"):
        cal.after(-1.0, Duration(1, True))
    assert cal.after(4 * 24.0 - 1, Duration(0.5, True)) == pytest.approx(4 * 24 + 11.0)


def test_known_calendars_list_countries_and_none():
    from sim.model.calendar import known_calendars

    names = known_calendars()
    assert names[0] == "none" and {"US", "CN", "DE"} <= set(names)
    assert names[1:] == sorted(names[1:])


@pytest.mark.parametrize("hours", [132.0, 168.0])  # Saturday 12:00; Monday 00:00 after it
def test_a_vanishing_amount_of_business_days_never_goes_back(hours):
    """1e-17 business days cannot move the float sum: the answer is the start itself, not
    the end of the previous working day (Friday 24:00, up to 2 days earlier)."""
    import numpy as np

    cal = BusinessCalendar("US", dt.date(2026, 3, 2), 60)
    assert cal.add_business_days(hours, 1e-17) == hours
    assert cal.after_each(np.array([hours]), Duration(1e-17, True)).tolist() == [hours]
    assert cal.add_business_days(hours, 0.5) == 168.0 + 12.0  # half of Monday's working day
