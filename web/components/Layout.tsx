/** The frame of every signed-in page: header with navigation, the live-connection banner, main. */
import type { ComponentChildren } from "preact";
import { down } from "../models/live";
import { isAdmin, me, signOut } from "../models/session";
import { path } from "../router";

function NavLink({ href, children }: { href: string; children: ComponentChildren }) {
  const active = path.value === href || path.value.startsWith(href + "/");
  return (
    <a href={href} class="nav-link" aria-current={active ? "page" : undefined}>
      {children}
    </a>
  );
}

export function Layout({ children }: { children: ComponentChildren }) {
  return (
    <>
      <a class="skip" href="#main" data-native>
        Skip to content
      </a>
      <header class="top">
        <a href="/projects" class="brand">
          WiseHosting
        </a>
        <nav aria-label="Main">
          <NavLink href="/projects">Projects</NavLink>
          {isAdmin.value && <NavLink href="/workers">Workers</NavLink>}
          {isAdmin.value && <NavLink href="/users">Users</NavLink>}
          <NavLink href="/alerts">Alerts</NavLink>
          <NavLink href="/usage">Usage</NavLink>
          <NavLink href="/audit">Audit log</NavLink>
          <NavLink href="/account">Account</NavLink>
        </nav>
        <div class="who">
          <span class="email" title={me.value?.email}>
            {me.value?.email}
          </span>
          <button type="button" class="btn plain small" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      {down.value && (
        <div class="banner" role="status">
          Live updates are disconnected — reconnecting… What you see may be out of date.
        </div>
      )}
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}
