"""Many runs: the plan (policies x replications), statistics, and the results folder."""
