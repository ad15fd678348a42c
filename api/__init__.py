"""The producer REST API: the seed's event JSON in, one business_events row out (see api.app)."""
