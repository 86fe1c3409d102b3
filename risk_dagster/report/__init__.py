"""Documentation-pack context, charts and rendering."""
