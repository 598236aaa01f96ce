"""Real orders in: order exports read into one normalised order log (see `schema`)."""
