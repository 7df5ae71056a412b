"""ThVC: a sovereign administration cloud."""

__version__ = "0.1.0"
