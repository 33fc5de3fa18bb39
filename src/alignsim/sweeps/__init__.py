"""Hydra multirun sweeps: one job runs one parameter point over many replicates (``point``), the
multirun's end gathers every job's files (``callbacks``) into tables and figures (``report``)."""
