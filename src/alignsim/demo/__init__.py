"""The seminar demo: a Solara page over the Mesa driver (``app``) and its server command
``alignsim-demo`` (``serve``)."""
