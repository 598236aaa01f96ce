"""One reader per export format; each turns files into `RawBatch`es of the log's fields."""
