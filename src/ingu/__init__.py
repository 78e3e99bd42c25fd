"""ingu (인구): synthetic Korean populations whose joints match official statistics."""

__version__ = "0.1.0"
