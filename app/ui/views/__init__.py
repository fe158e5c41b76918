"""Views: widget construction and layout only, no behaviour."""
