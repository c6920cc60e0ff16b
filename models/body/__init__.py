"""Body (person) model adapters: the person detector, the body warp, clothing colours."""
