"""One module per API resource; each class is mounted on ``TriggerClient`` by its plural name."""
