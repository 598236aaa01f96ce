"""One reader per export format; each turns files into `RawBatch`es of the log's fields."""

FORMATS = ("amazon-orders-api", "amazon-all-orders", "taobao-orders", "csv")
"""`cancelsim import --format`: each a module here (dashes as underscores) with `read`."""
