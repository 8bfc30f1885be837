"""What every use case stands on: the `Services` context, the unit of work (the one write path of an instance),
failures, events (audit chain and outbox), the working calendar, keys, monitoring and the background loops."""
