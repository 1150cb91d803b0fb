"""The service's own pages: health, the OpenAPI document, the docs page."""
