// docs/examples/next.config.ts: the same-origin alternative. The page calls /api/v1/... on its own origin and
// Next.js forwards it to the API: no CORS, and no preflight before each todo or page.
const apiUrl = process.env.TODO_API_URL ?? "http://localhost:3000";

const nextConfig = {
  async rewrites() {
    return [{ source: "/api/v1/:path*", destination: `${apiUrl}/api/v1/:path*` }];
  },
};

export default nextConfig;
