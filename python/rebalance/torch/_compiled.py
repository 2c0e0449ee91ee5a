"""Pickling for modules that hold a compiled object (``self._impl``): the object is dropped from
the pickle and rebuilt from plain state by ``_rebuild()`` (torch.save of a module, deepcopy,
DataLoader workers)."""


class CompiledState:
    def _rebuild(self):
        raise NotImplementedError

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_impl", None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._rebuild()
