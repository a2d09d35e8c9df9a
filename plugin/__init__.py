"""Run, test and trust PostHog plugins from Python, starting with Customer.io."""

__version__ = "0.1.0"
