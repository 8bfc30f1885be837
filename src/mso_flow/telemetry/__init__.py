"""Operations telemetry of a service process: Prometheus metrics and structured logs (no project imports)."""
