"""crm-masker: GDPR masking of CRM change events on Kafka for real-time BI."""

__version__ = "0.1.0"
