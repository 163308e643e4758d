// Package natsserver runs an embedded NATS server with JetStream, so that
// tests and the bench need no server installed. It can be stopped and
// started again on the same port and store, as a broker outage would.
package natsserver

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Server is an embedded NATS server with JetStream.
type Server struct {
	dir  string
	mu   sync.Mutex
	srv  *server.Server
	port int
}

// Start starts a server on a free port of 127.0.0.1, storing JetStream's
// data in dir.
func Start(dir string) (*Server, error) {
	s := &Server{dir: dir, port: -1}
	if err := s.Start(); err != nil {
		return nil, err
	}
	return s, nil
}

// Start starts the server again after Stop, on the same port and store.
// Starting a running server does nothing.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return nil
	}
	srv, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: s.port, JetStream: true, StoreDir: s.dir, NoLog: true, NoSigs: true,
	})
	if err != nil {
		return fmt.Errorf("natsserver: %w", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return errors.New("natsserver: not ready after 10 s")
	}
	s.srv = srv
	s.port = srv.Addr().(*net.TCPAddr).Port
	return nil
}

// Stop shuts the server down; Start brings it back.
func (s *Server) Stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
	}
}

// URL is the server's client URL.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprintf("nats://127.0.0.1:%d", s.port)
}
