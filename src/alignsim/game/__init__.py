"""The stage game of a month: payoff tensors from the kernel, equilibria (pygambit), and the
``alignsim-equilibria`` command. The ``equilibrium`` decision rule's valuation lives here and is
handed to the kernel by the drivers."""
