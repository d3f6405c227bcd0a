#!/usr/bin/python3
"""Asks the app's window to close, as a window manager does when its close button is
pressed: a WM_DELETE_WINDOW client message to every top-level window of the process
PID (found by _NET_WM_PID). Xvfb runs no window manager, and WebDriver's Close Window
closes the web view, not the window, so neither would exercise the app's own close
handling.   close-window.py PID
"""
import sys

from Xlib import X, display, protocol

pid = int(sys.argv[1])
d = display.Display()
root = d.screen().root
WM_PID = d.intern_atom("_NET_WM_PID")
PROTOCOLS = d.intern_atom("WM_PROTOCOLS")
DELETE = d.intern_atom("WM_DELETE_WINDOW")


def windows(w):
    for child in w.query_tree().children:
        yield child
        yield from windows(child)


sent = 0
for w in windows(root):
    prop = w.get_full_property(WM_PID, X.AnyPropertyType)
    if prop is None or pid not in prop.value:
        continue
    protocols = w.get_wm_protocols() or []
    if DELETE not in protocols:
        continue
    event = protocol.event.ClientMessage(window=w, client_type=PROTOCOLS, data=(32, [DELETE, X.CurrentTime, 0, 0, 0]))
    w.send_event(event, event_mask=X.NoEventMask)
    sent += 1
d.flush()
if sent == 0:
    sys.exit(f"close-window: no window of pid {pid} takes WM_DELETE_WINDOW")
print(f"close-window: asked {sent} window(s) of pid {pid} to close")
