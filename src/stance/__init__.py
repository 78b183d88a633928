"""alliance-stance: the stance a news sentence takes toward an alliance.

Heavy libraries (torch, transformers) are imported inside the functions that need them,
so that `stance --help` and argument errors stay fast.
"""

__version__ = "0.1.0"
