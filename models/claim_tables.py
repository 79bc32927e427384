"""Tables of the claims remittances denials appeals."""
