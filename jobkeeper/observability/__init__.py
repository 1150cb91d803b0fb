"""What operators read: structured logs and their context, and Prometheus metrics."""
