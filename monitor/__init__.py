"""monitor: media monitoring and sentiment pipeline for Indonesian government PR teams."""

__version__ = "0.1.0"
