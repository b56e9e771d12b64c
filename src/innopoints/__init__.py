"""innopoints: the enterprise innovation points platform (企业创新积分平台)."""

__version__ = "0.1.0"
