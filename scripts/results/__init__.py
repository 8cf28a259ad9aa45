"""What a finished (or running) tuning job found: best trial, counts, summaries, chart."""
