"""The collection around the bench: carrier inspection and collection-level PBCore, over the
catalogue's inventory (metadata.catalogue.inventory) and the take records (metadata.formats)."""
