"""Routers of `/engine-rest`, one per Camunda resource."""
