package eventual

// Cloner is a value a cache keeps in memory (aggregate.WithCache,
// saga.WithStateCache): Clone returns a copy that shares nothing its
// users change. Copying the struct is enough when its fields are values;
// copy the maps and slices they append to or write.
type Cloner[T any] interface {
	Clone() T
}
