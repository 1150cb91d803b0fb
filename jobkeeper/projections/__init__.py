"""Read models kept from the event log: jobs (all, running, finished, last ten), logs, users."""
