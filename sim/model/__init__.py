"""Validated data: policies, scenarios, distributions, durations, calendars."""
