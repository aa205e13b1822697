"""The streaming processor: consume, mask, produce; one Kafka transaction per batch."""
