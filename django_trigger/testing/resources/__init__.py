"""Per-resource state and rendering (runs, batches, bulk actions, …), one module per resource.
Handler modules (``..handlers``) expose these stores to the world through ``STORES``."""
