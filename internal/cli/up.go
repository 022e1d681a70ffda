package cli

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/lanyard-id/lanyard/internal/config"
	"github.com/lanyard-id/lanyard/internal/server"
)

func upCmd(e *env) *cobra.Command {
	var f config.File
	var lifetime time.Duration
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start Lanyard on this machine with the embedded store",
		Long: "Start the authority, the management API and the managed-identity endpoint on loopback,\n" +
			"keeping everything in the data folder (--home, $LANYARD_HOME, default ~/.lanyard).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.Home = e.home
			if lifetime != 0 {
				f.TokenLifetime = lifetime.String()
			}
			cfg, err := f.Resolve()
			if err != nil {
				return err
			}
			return serve(cmd, e, cfg, true)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Listen.API, "api-addr", config.DefaultAPIAddr, "authority and management API listen address (HTTPS)")
	fl.StringVar(&f.Listen.MSI, "msi-addr", config.DefaultMSIAddr, "managed-identity endpoint listen address (HTTP, loopback)")
	fl.StringVar(&f.Listen.Blob, "blob-addr", config.DefaultBlobAddr, "Blob service listen address (HTTPS)")
	fl.StringVar(&f.ServiceBus.DefaultListen, "servicebus-addr", config.DefaultServiceBusListen, "where a new Service Bus namespace's AMQP listener binds while that address is free (port 0: a free port)")
	fl.StringVar(&f.TenantID, "tenant-id", "", "tenant id to create on first start (default: generated)")
	fl.StringVar(&f.Store, "store", "sqlite", "store: sqlite (embedded, in the data folder), sqlite:PATH or a postgres:// URL")
	fl.DurationVar(&lifetime, "token-lifetime", 0, "access token lifetime (default 1h, at most 24h)")
	fl.StringVar(&f.Federation.TrustedCAFile, "trust-ca", "", "PEM file of extra CAs trusted when fetching federated credential issuers' keys (a private OIDC issuer)")
	fl.StringArrayVar(&f.Federation.AllowedIssuerNetworks, "allow-issuer-network", nil, "CIDR or address of loopback, link-local or private issuers whose keys may be fetched (repeatable; default none)")
	fl.StringVar(&f.Audit.File, "audit-file", "", "also write every audit event as a line of JSON to this file, or to stdout")
	fl.StringVar(&f.Audit.Policy, "audit-policy", "best-effort", "when the audit trail cannot be written: best-effort (serve, drop and count) or fail-closed (refuse)")
	fl.StringVar(&f.Audit.Retention, "audit-retention", "", "delete audit events older than this, e.g. 90d (default: keep all; the store grows by about 1.6 KB per event on SQLite)")
	fl.StringVar(&f.Log.Format, "log-format", "text", "log format: text or json")
	fl.StringVar(&f.Log.Level, "log-level", "info", "log level: debug, info, warn or error")
	return cmd
}

func serverCmd(e *env) *cobra.Command {
	var path, storeDSN string
	var all bool
	cmd := &cobra.Command{
		Use:   "server --config FILE",
		Short: "Run Lanyard from a configuration file",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(path)
			if err != nil {
				return err
			}
			if storeDSN != "" {
				cfg.Store = storeDSN
				if err := cfg.Validate(true); err != nil {
					return err
				}
			}
			if all {
				if err := listenAll(&cfg); err != nil {
					return err
				}
				if cfg.PublicHost == "127.0.0.1" && cfg.PublicAPIURL == "" {
					fmt.Fprintln(e.stderr, "WARNING: --listen-all with publicHost 127.0.0.1: tokens and endpoints name 127.0.0.1, which other machines cannot reach; set publicHost (and tlsNames) to the name your team uses")
				}
			}
			return serve(cmd, e, cfg, false)
		},
	}
	cmd.Flags().StringVar(&path, "config", "", "configuration file (JSON; unknown keys are errors)")
	cmd.Flags().StringVar(&storeDSN, "store", "", "store: sqlite, sqlite:PATH or postgres://... (overrides the file)")
	cmd.Flags().BoolVar(&all, "listen-all", false, "serve the API and Blob on every interface (their configured ports); the managed-identity endpoint stays where it is configured, on loopback by default")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}

func serve(cmd *cobra.Command, e *env, cfg config.Config, banner bool) error {
	logger := newLogger(e.stderr, cfg.LogFormat, cfg.LogLevel)
	start := time.Now()
	srv, err := server.New(cmd.Context(), cfg, logger)
	if err != nil {
		return listenHint(err, banner)
	}
	st := srv.State()
	logger.Info("lanyard is ready", "tenant", st.TenantID, "api", st.APIURL, "msi", st.MSIURL, "startup", time.Since(start).Round(time.Microsecond))
	if banner {
		fmt.Fprintf(e.stdout, `Lanyard is running.

  Tenant           %s
  Subscription     %s
  Authority        %s
  Management API   %s
  Identity (MSI)   %s/msi/token
  Blob Storage     %s/{account}
  Data folder      %s

Trust Lanyard's CA in your shell (lanyard app run and app env set these for apps):
  export SSL_CERT_FILE=%[8]s       # Go, OpenSSL (system roots + Lanyard)
  export CURL_CA_BUNDLE=%[8]s      # curl (Debian's curl ignores SSL_CERT_FILE)
  export REQUESTS_CA_BUNDLE=%[8]s  # Python requests, used by the Python SDKs
  export NODE_EXTRA_CA_CERTS=%[9]s   # Node.js

Then, in another terminal (the README's Quick start):
  lanyard group create -n demo
  lanyard storage account create -g demo -n acct1
  lanyard app create -g demo -n web --system-assigned --role "Storage Blob Data Contributor"
  lanyard app run -g demo -n web -- go run ./examples/uploader

Press Ctrl+C to stop.
`, st.TenantID, st.SubscriptionID, st.AuthorityURL, st.APIURL, st.MSIURL, st.BlobURL, cfg.Home, st.BundleFile, st.CAFile)
	}
	err = srv.Run(cmd.Context())
	logger.Info("lanyard stopped")
	return err
}

// listenFlags name the setting that moves each listener: up's flags, the config file's keys.
var listenFlags = map[string][2]string{"api": {"--api-addr", "listen.api"}, "msi": {"--msi-addr", "listen.msi"}, "blob": {"--blob-addr", "listen.blob"}}

// listenHint says, when a listener's address is taken, which flag or key moves it: the
// defaults are fixed ports another program (or another lanyard up) may hold.
func listenHint(err error, up bool) error {
	var le *server.ListenError
	if !errors.As(err, &le) || !errors.Is(err, syscall.EADDRINUSE) {
		return err
	}
	move := listenFlags[le.Listener][0] + " 127.0.0.1:PORT"
	if !up {
		move = listenFlags[le.Listener][1] + " in the configuration file"
	}
	return fmt.Errorf("the %s address %s is in use, by another program or another lanyard: stop it, or move this listener with %s (%w)", le.Listener, le.Addr, move, err)
}

func newLogger(w io.Writer, format, level string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// listenAll makes the API and Blob listeners serve every interface on their configured
// ports: the same as listen.api and listen.blob on 0.0.0.0 with allowNonLoopback. The
// managed-identity endpoint is plain HTTP for the apps of this machine, so it stays put.
func listenAll(cfg *config.Config) error {
	for _, addr := range []*string{&cfg.APIAddr, &cfg.BlobAddr} {
		_, port, err := net.SplitHostPort(*addr)
		if err != nil {
			return fmt.Errorf("--listen-all: %q: %w", *addr, err)
		}
		*addr = net.JoinHostPort("0.0.0.0", port)
	}
	return cfg.Validate(true)
}
