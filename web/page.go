package web

// Service is a built-in practice server shown on the page.
type Service struct {
	Name  string `json:"name"`
	Proto string `json:"proto"`
	Addr  string `json:"addr"`
	About string `json:"about"`
}

// PageData is what the index page shows.
type PageData struct {
	Version     string    // the build's version
	Mode        string    // "local" or "hosted"
	AssetPrefix string    // e.g. "/static/3f2a9c1b0d4e", without a trailing slash
	Services    []Service // the built-in services
	Config      PageConfig
}

// PageConfig is handed to the page's scripts.
type PageConfig struct {
	WebSocketPath string `json:"ws_path"`
	Subprotocol   string `json:"subprotocol"`
	Protocol      string `json:"protocol"`
}
