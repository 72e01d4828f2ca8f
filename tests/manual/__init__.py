"""Tests of sddd's manual: its examples run, its paths exist, its reference follows the code."""
