package gcpfake

// ClearWriteFaults disarms the write failures FailWrite armed that no write
// has met yet. A test that arms a failure at write n of a call that turns
// out to make fewer writes clears it, so it cannot fail a later call.
// (Added for gcpremedy's fault-injection loop.)
func (s *Server) ClearWriteFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.failWrites)
}
