"""The grid search (sddd.grid): its file, variants, runner on a real engine with a real vLLM,
report and apply."""
