"""Document mode: find the diagnostic mentions in a clinical note and code each (no Qt)."""
