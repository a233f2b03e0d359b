/**
 * The WiseHosting dashboard: a Preact + signals single-page app. State lives
 * in web/models (outside components); web/pages and web/components only
 * render it. Routes are plain paths (the server answers index.html for each).
 */
import { render } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { Layout } from "./components/Layout";
import { Loading, useTitle } from "./components/ui";
import { loadProjects } from "./models/projects";
import { boot, isAdmin, me, onSignedIn, ready } from "./models/session";
import { AccountPage } from "./pages/Account";
import { AuditPage } from "./pages/Audit";
import { ProjectPage, type Tab } from "./pages/Project";
import { ProjectsPage } from "./pages/Projects";
import { InvitePage, SignInPage } from "./pages/SignIn";
import { UsersPage } from "./pages/Users";
import { WorkersPage } from "./pages/Workers";
import { WorkerDetailPage } from "./pages/WorkerDetail";
import { AlertsPage } from "./pages/Alerts";
import { UsagePage } from "./pages/Usage";
import { match, navigate, path, startRouter } from "./router";

function AdminOnly() {
  useTitle("Admins only");
  return (
    <div class="card empty">
      <h1>Admins only</h1>
      <p>This page is for administrators. Ask an admin if you need access.</p>
      <a href="/projects">Back to your projects</a>
    </div>
  );
}

function NotFound() {
  useTitle("Not found");
  return (
    <div class="card empty">
      <h1>Page not found</h1>
      <a href="/projects">Go to your projects</a>
    </div>
  );
}

const TABS = new Set(["deployments", "logs", "env", "domains", "settings", "metrics"]);

function Page() {
  const p = path.value;
  if (p === "/" || p === "/projects" || p === "/signin") return <ProjectsPage />;
  const proj = match("/projects/:id/:tab?", p);
  if (proj && (!proj.tab || TABS.has(proj.tab))) return <ProjectPage key={proj.id} id={proj.id!} tab={(proj.tab ?? "deployments") as Tab} />;
  if (p === "/workers") return isAdmin.value ? <WorkersPage /> : <AdminOnly />;
  const worker = match("/workers/:id", p);
  if (worker) return isAdmin.value ? <WorkerDetailPage key={worker.id} id={worker.id!} /> : <AdminOnly />;
  if (p === "/alerts") return <AlertsPage />;
  if (p === "/usage") return <UsagePage />;
  if (p === "/users") return isAdmin.value ? <UsersPage /> : <AdminOnly />;
  if (p === "/audit") return <AuditPage />;
  if (p === "/account") return <AccountPage />;
  return <NotFound />;
}

function App() {
  const first = useRef(true);
  const p = path.value;
  // After a move within the app, put keyboard and screen reader focus on the new page.
  useEffect(() => {
    if (first.current) return void (first.current = false);
    document.getElementById("main")?.focus({ preventScroll: true });
  }, [p]);
  if (p === "/invite") return <InvitePage />;
  if (!ready.value) return <main id="main" class="signin"><Loading what="WiseHosting" /></main>;
  if (!me.value) {
    if (p !== "/signin") queueMicrotask(() => navigate(`/signin?next=${encodeURIComponent(p)}`, { replace: true }));
    return <SignInPage />;
  }
  if (p === "/signin" || p === "/") queueMicrotask(() => navigate("/projects", { replace: true }));
  return (
    <Layout>
      <Page />
    </Layout>
  );
}

// The projects list is most people's first page: ask for it while the page switches.
onSignedIn((next) => {
  if (next === "/projects") void loadProjects();
});

startRouter();
render(<App />, document.getElementById("app")!);
void boot();
