"""The truth: event-sourced jobs and users, and the application that commands them."""
