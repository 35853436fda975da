"""evalcli: does system prompt B really beat prompt A on this model, and by how much?"""

__version__ = "0.1.0"
