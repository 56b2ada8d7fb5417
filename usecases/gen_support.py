"""Data tables and builders for the ``support-qa`` use case (Lumen documentation Q&A).

Every fact is one plain sentence in a documentation page. The same fact yields one eval
question (canonical wording) and 5-6 training paraphrases (other wordings that keep the
fact's key terms), all answered by the fact's short answer.
"""

from __future__ import annotations

import random
import re
from typing import NamedTuple

SLUG = "support-qa"
SEED = 20240611
SYSTEM = "You answer questions about Lumen."
DUPLICATES = 12
FUNCTION_WORDS = {"does", "from", "that", "this", "what", "when", "will", "with", "your"}


class F(NamedTuple):
    """A fact: question kind, key phrase, short answer and the sentence stating it."""

    # "what" (singular noun phrase), "are" (plural noun phrase), "how" (verb phrase) or
    # "many" (the clause after "How many")
    kind: str
    subject: str
    answer: str
    sentence: str


class Doc(NamedTuple):
    """A documentation page: file stem, title, intro filler and (heading, items) sections."""

    stem: str
    title: str
    intro: str
    sections: list[tuple[str, list[F | str]]]


# Canonical eval wording per kind, then the training paraphrase templates per kind.
EVAL_TEMPLATES = {
    "what": "What is the {s}?",
    "are": "What are the {s}?",
    "how": "How do I {s}?",
    "many": "How many {s}?",
}
TRAIN_TEMPLATES = {
    "what": [
        "What's the {s}?",
        "Can you tell me the {s}?",
        "I'd like to know the {s}.",
        "Do you know the {s} in Lumen?",
        "Quick question: what is the {s}?",
        "Please tell me the {s}.",
        "In Lumen, what is the {s}?",
        "Could you remind me what the {s} is?",
    ],
    "are": [
        "Which are the {s}?",
        "Can you tell me the {s}?",
        "I'd like to know the {s}.",
        "Do you know the {s} in Lumen?",
        "Quick question: what are the {s}?",
        "Please list the {s}.",
        "In Lumen, what are the {s}?",
        "Could you remind me what the {s} are?",
    ],
    "how": [
        "How can I {s}?",
        "What's the way to {s}?",
        "Is there a way to {s}?",
        "I want to {s}. How?",
        "Can you explain how to {s}?",
        "What are the steps to {s}?",
        "I need to {s}, what should I do?",
        "How would I {s} in Lumen?",
    ],
    "many": [
        "Do you know how many {s}?",
        "Can you tell me how many {s}?",
        "Quick question: how many {s}?",
        "I'd like to know how many {s}.",
        "Any idea how many {s}?",
        "In Lumen, how many {s}?",
        "Please tell me how many {s}.",
    ],
}

# fmt: off
DOCS = [
    Doc("getting-started", "Getting started with Lumen",
        "Lumen keeps your notes and files in one place and in sync on every device. "
        "This guide walks through the first few minutes after you sign up.", [
        ("Installing Lumen", [
            F("what", "minimum Windows version required to install Lumen", "Windows 10",
              "The minimum Windows version required to install Lumen is Windows 10."),
            "The setup wizard finishes in about a minute.",
            F("what", "size of the desktop installer download", "180 MB",
              "The size of the desktop installer download is 180 MB."),
        ]),
        ("Your first notebook", [
            F("what", "name of the notebook created on first launch", "Inbox",
              "The notebook created on first launch has the name Inbox."),
            "You can rename or remove it later.",
            F("how", "open the welcome tour again", "Help > Welcome Tour",
              "To open the welcome tour again, choose Help > Welcome Tour."),
        ]),
        ("Language and capture", [
            F("many", "languages is the Lumen interface available in", "14",
              "The Lumen interface is available in 14 languages."),
            F("what", "keyboard shortcut to open quick capture", "Ctrl+Shift+Space",
              "The keyboard shortcut to open quick capture is Ctrl+Shift+Space."),
            "Captured snippets land at the top of your list.",
        ]),
    ]),
    Doc("accounts", "Accounts and sign-in",
        "Your Lumen account ties your devices together. "
        "Keep your contact details current so we can reach you.", [
        ("Passwords", [
            F("what", "minimum password length for a Lumen account", "12 characters",
              "The minimum password length for a Lumen account is 12 characters."),
            F("what", "lifetime of a password reset link", "24 hours",
              "The lifetime of a password reset link is 24 hours."),
            F("many", "failed sign-in attempts lock an account", "10",
              "Lumen will lock an account after 10 failed sign-in attempts."),
            "We recommend a passphrase made of several unrelated words.",
        ]),
        ("Sign-in options", [
            F("are", "sign-in providers supported besides email", "Google and Apple",
              "The sign-in providers supported besides email are Google and Apple."),
            "Linking a provider does not change your existing notes.",
        ]),
        ("Managing your account", [
            F("how", "change the email address on my account", "Settings > Account > Email",
              "To change the email address on your account, open Settings > Account > Email."),
            F("how", "permanently delete my Lumen profile", "Settings > Account > Delete",
              "To permanently delete your Lumen profile, open Settings > Account > Delete."),
            "Deleted profiles cannot be brought back.",
        ]),
    ]),
    Doc("plans", "Plans and pricing",
        "Lumen offers Free, Plus, Pro and Teams plans. "
        "Prices below are shown before local taxes.", [
        ("Prices", [
            F("what", "monthly price of the Plus plan", "$4.99",
              "The monthly price of the Plus plan is $4.99."),
            F("what", "yearly cost of Lumen Pro", "$99",
              "The yearly cost of Lumen Pro is $99."),
            F("what", "discount for students on Lumen Pro", "50%",
              "The discount for students on Lumen Pro is 50%."),
            "Prices can differ slightly between regions.",
        ]),
        ("What the Free plan includes", [
            F("what", "storage included with the Free plan", "2 GB",
              "The storage included with the Free plan is 2 GB."),
            F("many", "devices can be linked on the Free plan", "3",
              "On the Free plan, 3 devices can be linked at the same time."),
        ]),
        ("Trials and teams", [
            F("what", "length of the Pro free trial", "14 days",
              "The length of the Pro free trial is 14 days."),
            F("what", "smallest seat count for a Teams subscription", "5 seats",
              "The smallest seat count for a Teams subscription is 5 seats."),
            "Upgrades take effect right away.",
        ]),
    ]),
    Doc("billing", "Billing and payments",
        "This page explains how Lumen charges for paid plans. "
        "All amounts appear on your statement as LUMEN APP.", [
        ("Paying for Lumen", [
            F("are", "payment methods accepted for subscriptions", "credit cards and PayPal",
              "The payment methods accepted for subscriptions are credit cards and PayPal."),
            F("what", "currency used for billing in the European Union", "euros",
              "The currency used for billing in the European Union is euros."),
            "Gift cards are not offered at this time.",
        ]),
        ("Renewals", [
            F("many", "days before renewal is the reminder email sent", "7",
              "The reminder email is sent 7 days before renewal."),
            F("what", "grace period after a declined card", "10 days",
              "The grace period after a declined card is 10 days."),
        ]),
        ("Refunds and invoices", [
            F("what", "refund window after a yearly purchase", "30 days",
              "The refund window after a yearly purchase is 30 days."),
            F("how", "download a past invoice", "Settings > Billing > Invoices",
              "To download a past invoice, go to Settings > Billing > Invoices."),
            "Our team answers most requests within two working days.",
        ]),
    ]),
    Doc("uploads", "Uploading files",
        "You can add any kind of file to Lumen and open it on every device. "
        "Transfers continue in the background while you work.", [
        ("Limits", [
            F("what", "maximum size of a single upload", "5 GB",
              "The maximum size of a single upload is 5 GB."),
            F("many", "files can be uploaded at once from the web app", "100",
              "Up to 100 files can be uploaded at once from the web app."),
            F("are", "file types blocked from upload", ".exe and .bat",
              "The file types blocked from upload are .exe and .bat."),
            "Large items are split into parts behind the scenes.",
        ]),
        ("Bandwidth", [
            F("what", "default bandwidth cap for uploading", "unlimited",
              "The default bandwidth cap for uploading is unlimited."),
        ]),
        ("Interrupted transfers", [
            F("how", "resume a paused upload", "click Resume in the Transfers panel",
              "To resume a paused upload, click Resume in the Transfers panel."),
            F("many", "automatic retries happen for a failed upload", "5",
              "5 automatic retries happen for a failed upload before it stops."),
            "A progress bar shows how much is left.",
        ]),
    ]),
    Doc("sync", "How sync works",
        "Lumen sync keeps the same notes and files on all your devices. "
        "Changes travel through our servers in encrypted form.", [
        ("Timing", [
            F("what", "default sync interval on desktop", "30 seconds",
              "The default sync interval on desktop is 30 seconds."),
            F("how", "force a manual sync", "press Ctrl+R",
              "To force a manual sync, press Ctrl+R."),
            F("how", "pause sync for an hour", "Tray icon > Pause > 1 hour",
              "To pause sync for an hour, use Tray icon > Pause > 1 hour."),
        ]),
        ("Conflicts", [
            F("what", "suffix added to conflicted copies", "the device name and date",
              "The suffix added to conflicted copies is the device name and date."),
            "Both versions are always kept so nothing is lost.",
        ]),
        ("Network and status", [
            F("what", "port used by LAN sync", "47120",
              "The port used by LAN sync is 47120."),
            F("what", "location of the sync log on Windows", "%APPDATA%\\Lumen\\logs",
              "The location of the sync log on Windows is %APPDATA%\\Lumen\\logs."),
            F("what", "status icon color when sync is complete", "green",
              "The status icon color when sync is complete is green."),
        ]),
    ]),
    Doc("offline", "Working offline",
        "Lumen keeps working when your connection drops. "
        "Everything you change is sent as soon as you are back online.", [
        ("Offline notebooks", [
            F("how", "make a notebook available offline", "choose Keep offline",
              "To make a notebook available offline, right-click it and choose Keep offline."),
            F("what", "default offline availability for new notebooks", "disabled",
              "The default offline availability for new notebooks is disabled."),
            "Pinned items open instantly even on a slow network.",
        ]),
        ("Cache", [
            F("what", "maximum offline cache size on mobile", "4 GB",
              "The maximum offline cache size on mobile is 4 GB."),
            F("how", "clear the offline cache", "Settings > Storage > Clear cache",
              "To clear the offline cache, open Settings > Storage > Clear cache."),
        ]),
        ("Working without a connection", [
            F("many", "days can the app stay offline before requiring sign-in", "60",
              "The app can stay offline for 60 days before requiring sign-in again."),
            F("what", "indicator shown for notes edited offline", "a small orange dot",
              "The indicator shown for notes edited offline is a small orange dot."),
        ]),
    ]),
    Doc("editor", "The note editor",
        "The editor is where you write and format your notes. "
        "It works the same way on desktop, web and mobile.", [
        ("Formatting", [
            F("what", "keyboard shortcut for bold text", "Ctrl+B",
              "The keyboard shortcut for bold text is Ctrl+B."),
            F("how", "insert a checklist", "type [] followed by a space",
              "To insert a checklist, type [] followed by a space."),
            F("what", "default font in the editor", "Inter",
              "The default font in the editor is Inter."),
        ]),
        ("Saving and size", [
            F("what", "autosave delay after you stop typing", "2 seconds",
              "The autosave delay after you stop typing is 2 seconds."),
            F("what", "character limit for one note", "1,000,000 characters",
              "The character limit for one note is 1,000,000 characters."),
            "Nothing you write is ever lost if the app closes.",
        ]),
        ("Commands", [
            F("how", "open the command palette", "press Ctrl+K",
              "To open the command palette, press Ctrl+K."),
            "From there you can jump anywhere in a few keystrokes.",
        ]),
    ]),
    Doc("markdown", "Markdown support",
        "Lumen understands Markdown as you type. "
        "You can mix rich formatting and plain syntax freely.", [
        ("Structure", [
            F("what", "deepest heading level supported", "level 4",
              "The deepest heading level supported is level 4."),
            F("how", "create a table in a note", "type /table",
              "To create a table in a note, type /table."),
        ]),
        ("Code and math", [
            F("what", "syntax for inline code", "single backticks",
              "The syntax for inline code is single backticks."),
            F("many", "languages get code block highlighting", "40",
              "In Lumen, 40 languages get code block highlighting."),
            F("what", "math rendering engine", "KaTeX",
              "The math rendering engine is KaTeX."),
            "Formulas update live while you edit them.",
        ]),
        ("Turning it off", [
            F("how", "turn off Markdown shortcuts", "Settings > Editor > Markdown shortcuts",
              "To turn off Markdown shortcuts, open Settings > Editor > Markdown shortcuts."),
        ]),
    ]),
    Doc("attachments", "Attachments and images",
        "Notes can hold pictures, PDFs and other files alongside your text. "
        "Previews are generated automatically.", [
        ("Limits", [
            F("what", "attachment limit per note", "250 MB",
              "The attachment limit per note is 250 MB."),
            F("what", "image downscaling resolution", "4096 pixels",
              "The image downscaling resolution is 4096 pixels on the longest side."),
        ]),
        ("Images", [
            F("are", "image formats shown inline", "PNG, JPEG, GIF and WebP",
              "The image formats shown inline are PNG, JPEG, GIF and WebP."),
            "Other formats appear as a file card you can open.",
        ]),
        ("PDFs and scans", [
            F("how", "annotate a PDF", "choose Markup",
              "To annotate a PDF, open it and choose Markup."),
            F("what", "plan that includes text recognition for scanned documents", "Pro",
              "The plan that includes text recognition for scanned documents is Pro."),
            F("what", "thumbnail size in the gallery view", "160 pixels",
              "The thumbnail size in the gallery view is 160 pixels."),
        ]),
    ]),
    Doc("search", "Searching your notes",
        "Search looks through titles, text and many attached files. "
        "Results are ranked by relevance and recency.", [
        ("Search syntax", [
            F("what", "operator for an exact phrase search", "double quotes",
              "The operator for an exact phrase search is double quotes."),
            F("what", "filter for notes with a given tag", "tag:name",
              "The filter for notes with a given tag is tag:name."),
            F("what", "shortcut for global search", "Ctrl+Shift+F",
              "The shortcut for global search is Ctrl+Shift+F."),
        ]),
        ("Indexing", [
            F("what", "delay before new attachments appear in search results", "up to 10 minutes",
              "The delay before new attachments appear in search results is up to 10 minutes."),
            F("are", "document formats whose text gets indexed", "PDF, DOCX and TXT",
              "The document formats whose text gets indexed are PDF, DOCX and TXT."),
            "Handwriting is not recognised yet.",
        ]),
        ("Saved searches", [
            F("how", "save a search", "click the star next to the search box",
              "To save a search, click the star next to the search box."),
            F("what", "cap on saved searches per account", "50",
              "The cap on saved searches per account is 50."),
        ]),
    ]),
    Doc("tags", "Tags and organization",
        "Notebooks and tags are two ways to keep your notes tidy. "
        "Use whichever suits the way you think.", [
        ("Tags", [
            F("many", "tags can be added to a note", "20",
              "Up to 20 tags can be added to a note."),
            F("what", "character that starts a tag", "the hash sign",
              "The character that starts a tag is the hash sign."),
            F("how", "rename a tag everywhere", "the Tags sidebar",
              "To rename a tag everywhere, use the Tags sidebar."),
            F("are", "colour choices for labels", "eight preset colours",
              "The colour choices for labels are eight preset colours."),
        ]),
        ("Notebooks", [
            F("what", "maximum notebook nesting depth", "3 levels",
              "The maximum notebook nesting depth is 3 levels."),
            F("what", "default sort order of the notebook list", "alphabetical",
              "The default sort order of the notebook list is alphabetical."),
            "Drag and drop works in the sidebar too.",
        ]),
    ]),
    Doc("sharing", "Sharing notes and files",
        "Share a single note or a whole notebook with anyone. "
        "People you invite do not need a paid plan.", [
        ("Public links", [
            F("what", "default expiry of a public link", "7 days",
              "The default expiry of a public link is 7 days."),
            F("how", "password-protect a share link", "Share > Link settings > Password",
              "To password-protect a share link, open Share > Link settings > Password."),
            F("what", "daily download cap for public links", "1,000 downloads",
              "The daily download cap for public links is 1,000 downloads."),
        ]),
        ("Shared notebooks", [
            F("are", "permission levels for shared notebooks", "view, comment and edit",
              "The permission levels for shared notebooks are view, comment and edit."),
            F("many", "people can a notebook be shared with on Plus", "25",
              "On Plus, a notebook can be shared with 25 people."),
            F("how", "stop sharing a notebook", "Share > Stop sharing",
              "To stop sharing a notebook, open Share > Stop sharing."),
            "Invited people get an email with a link.",
        ]),
    ]),
    Doc("collaboration", "Real-time collaboration",
        "Several people can work in the same note and see each other's changes live. "
        "Comments keep discussions next to the text they refer to.", [
        ("Editing together", [
            F("many", "people can edit a note simultaneously", "10",
              "Up to 10 people can edit a note simultaneously."),
            F("how", "see who wrote a paragraph", "choose Show author",
              "To see who wrote a paragraph, hover over it and choose Show author."),
        ]),
        ("Comments", [
            F("how", "mention a teammate in a comment", "type @ followed by their name",
              "To mention a teammate in a comment, type @ followed by their name."),
            F("what", "retention of resolved comments", "90 days",
              "The retention of resolved comments is 90 days."),
            "Replies are threaded under the original remark.",
        ]),
        ("Workspaces and guests", [
            F("what", "role required to invite guests to a workspace", "Admin",
              "The role required to invite guests to a workspace is Admin."),
            F("what", "guest limit for a Teams workspace", "20 guests",
              "The guest limit for a Teams workspace is 20 guests."),
        ]),
    ]),
    Doc("security", "Account security",
        "Protecting your data is our top priority. "
        "This page lists the controls you have over your own account.", [
        ("Two-factor authentication", [
            F("how", "turn on two-factor authentication", "Settings > Security > Two-factor",
              "To turn on two-factor authentication, open Settings > Security > Two-factor."),
            F("many", "backup codes are generated for two-factor", "10",
              "When two-factor is set up, 10 backup codes are generated."),
        ]),
        ("Sessions", [
            F("what", "session timeout on the web app", "8 hours",
              "The session timeout on the web app is 8 hours."),
            F("how", "sign out of all devices", "Settings > Security > Sign out everywhere",
              "To sign out of all devices, open Settings > Security > Sign out everywhere."),
        ]),
        ("Compliance", [
            F("are", "data center regions available", "the EU and the US",
              "The data center regions available are the EU and the US."),
            F("what", "security certification Lumen holds", "SOC 2 Type II",
              "The security certification Lumen holds is SOC 2 Type II."),
            "Independent auditors review our controls every year.",
        ]),
    ]),
    Doc("encryption", "Encryption",
        "Lumen encrypts everything in transit and at rest. "
        "Vaults add a second layer that only you can unlock.", [
        ("In transit and at rest", [
            F("what", "encryption algorithm for files at rest", "AES-256",
              "The encryption algorithm for files at rest is AES-256."),
            F("what", "TLS version required for connections", "TLS 1.2 or later",
              "The TLS version required for connections is TLS 1.2 or later."),
        ]),
        ("Vaults", [
            F("how", "enable end-to-end encryption for a notebook", "Notebook settings > Encrypt",
              "To enable end-to-end encryption for a notebook, open Notebook settings > Encrypt."),
            F("what", "length of the recovery key", "24 words",
              "The length of the recovery key is 24 words."),
            F("what", "key derivation function for vault passwords", "Argon2id",
              "The key derivation function for vault passwords is Argon2id."),
            "We never see the contents of a vault.",
        ]),
    ]),
    Doc("version-history", "Version history",
        "Lumen remembers earlier states of your notes and files. "
        "You can look back and bring back what you need.", [
        ("How long versions are kept", [
            F("what", "version history retention on the Free plan", "7 days",
              "The version history retention on the Free plan is 7 days."),
            F("what", "interval between automatic snapshots", "10 minutes",
              "The interval between automatic snapshots is 10 minutes."),
            F("many", "revisions are kept for each file", "100",
              "Up to 100 revisions are kept for each file."),
        ]),
        ("Restoring", [
            F("how", "restore an earlier version of a note", "File > Version history > Restore",
              "To restore an earlier version of a note, open File > Version history > Restore."),
            F("how", "compare two versions side by side", "select both and click Compare",
              "To compare two versions side by side, select both and click Compare."),
            F("what", "quota usage of old revisions", "not counted",
              "The quota usage of old revisions is not counted against your storage."),
            "Restoring never overwrites the current state without asking.",
        ]),
    ]),
    Doc("trash", "Trash and recovery",
        "Deleted items go to the trash first. "
        "You have time to change your mind.", [
        ("Trash", [
            F("what", "retention period for items in the trash", "30 days",
              "The retention period for items in the trash is 30 days."),
            F("how", "empty the trash", "Trash > Empty trash",
              "To empty the trash, open Trash > Empty trash."),
            F("what", "permanent deletion delay after emptying", "72 hours",
              "The permanent deletion delay after emptying is 72 hours."),
        ]),
        ("Recovery", [
            F("how", "recover a deleted notebook", "Trash > Notebooks > Restore",
              "To recover a deleted notebook, open Trash > Notebooks > Restore."),
            F("what", "person who can purge items from a shared notebook", "the notebook owner",
              "The person who can purge items from a shared notebook is the notebook owner."),
            "Support can sometimes help after the window has closed.",
        ]),
    ]),
    Doc("mobile", "Mobile apps",
        "Lumen runs on iPhone, iPad and Android phones and tablets. "
        "The apps are free to download.", [
        ("Requirements", [
            F("what", "minimum iOS version", "iOS 16",
              "The minimum iOS version is iOS 16."),
            F("what", "oldest Android release supported", "Android 10",
              "The oldest Android release supported is Android 10."),
        ]),
        ("Capture on the go", [
            F("how", "scan a document with the phone camera", "tap + and choose Scan",
              "To scan a document with the phone camera, tap + and choose Scan."),
            F("are", "widget sizes on the home screen", "small, medium and large",
              "The widget sizes on the home screen are small, medium and large."),
        ]),
        ("Privacy and data", [
            F("how", "turn on biometric unlock", "Settings > Privacy > Biometric unlock",
              "To turn on biometric unlock, open Settings > Privacy > Biometric unlock."),
            F("what", "default sync setting for mobile data", "Wi-Fi only",
              "The default sync setting for mobile data is Wi-Fi only."),
            "Battery use stays low in the background.",
        ]),
    ]),
    Doc("desktop", "Desktop app",
        "The desktop app runs on Windows, macOS and Linux. "
        "It adds a folder on your computer that mirrors your Lumen space.", [
        ("Installation", [
            F("are", "Linux package formats available", "DEB, RPM and AppImage",
              "The Linux package formats available are DEB, RPM and AppImage."),
            F("are", "update channel options", "Stable and Beta",
              "The update channel options are Stable and Beta."),
        ]),
        ("The Lumen folder", [
            F("what", "default folder for synced files on macOS", "~/Lumen",
              "The default folder for synced files on macOS is ~/Lumen."),
            F("how", "move the Lumen folder to another drive", "Settings > Sync > Move folder",
              "To move the Lumen folder to another drive, use Settings > Sync > Move folder."),
        ]),
        ("Startup and hotkeys", [
            F("how", "start Lumen at login", "Settings > General > Open at login",
              "To start Lumen at login, open Settings > General > Open at login."),
            F("what", "global hotkey to show the main window", "Ctrl+Alt+L",
              "The global hotkey to show the main window is Ctrl+Alt+L."),
            "The app sits quietly in the menu bar otherwise.",
        ]),
    ]),
    Doc("web-clipper", "Web clipper",
        "The web clipper saves articles and pages from your browser into Lumen. "
        "Clips keep a link back to where they came from.", [
        ("Browsers", [
            F("are", "browsers supported by the web clipper", "Chrome, Firefox, Edge and Safari",
              "The browsers supported by the web clipper are Chrome, Firefox, Edge and Safari."),
            F("what", "hotkey that activates the clipper", "Alt+Shift+C",
              "The hotkey that activates the clipper is Alt+Shift+C."),
        ]),
        ("Clipping", [
            F("what", "default clip format", "simplified article",
              "The default clip format is simplified article."),
            F("how", "clip a full page screenshot", "choose Screenshot in the clipper menu",
              "To clip a full page screenshot, choose Screenshot in the clipper menu."),
            F("what", "destination notebook for new clips", "Web Clips",
              "The destination notebook for new clips is Web Clips."),
            "Ads and pop-ups are stripped automatically.",
        ]),
    ]),
    Doc("import-export", "Import and export",
        "Bring your notes into Lumen or take them with you at any time. "
        "Your data always belongs to you.", [
        ("Importing", [
            F("are", "apps you can import notes from", "Evernote, OneNote and Notion",
              "The apps you can import notes from are Evernote, OneNote and Notion."),
            F("what", "maximum ENEX file size for import", "2 GB",
              "The maximum ENEX file size for import is 2 GB."),
        ]),
        ("Exporting", [
            F("are", "export formats for a notebook", "Markdown, HTML and PDF",
              "The export formats for a notebook are Markdown, HTML and PDF."),
            F("how", "get a full archive of my account data", "Settings > Account > Archive",
              "To get a full archive of your account data, open Settings > Account > Archive."),
            F("many", "days does an export download link stay valid", "7",
              "An export download link will stay valid for 7 days."),
            "Large archives are prepared in the background.",
        ]),
    ]),
    Doc("notifications", "Notifications",
        "Lumen can tell you about comments, shares and reminders. "
        "You decide what reaches you and when.", [
        ("Controlling alerts", [
            F("how", "mute notifications for a notebook", "Notebook menu > Mute",
              "To mute notifications for a notebook, use Notebook menu > Mute."),
            F("how", "turn off email notifications", "Settings > Notifications > Email",
              "To turn off email notifications, open Settings > Notifications > Email."),
            F("what", "default quiet hours window", "10 PM to 7 AM",
              "The default quiet hours window is 10 PM to 7 AM."),
        ]),
        ("Digests and reminders", [
            F("what", "default time of the daily digest", "8:00 AM",
              "The default time of the daily digest is 8:00 AM."),
            F("are", "snooze durations for reminders", "1 hour, 1 day or 1 week",
              "The snooze durations for reminders are 1 hour, 1 day or 1 week."),
            "Reminders also appear in the app itself.",
        ]),
    ]),
    Doc("api", "Developer API",
        "The Lumen API lets you build your own tools on top of your notes. "
        "Responses are JSON and follow REST conventions.", [
        ("Access", [
            F("are", "plans that include API access", "Pro and Teams",
              "The plans that include API access are Pro and Teams."),
            F("how", "create a personal access token", "Settings > Developer > Tokens",
              "To create a personal access token, open Settings > Developer > Tokens."),
            F("what", "validity period of API tokens", "90 days",
              "The validity period of API tokens is 90 days."),
        ]),
        ("Usage", [
            F("what", "rate limit of the public API", "600 requests per minute",
              "The rate limit of the public API is 600 requests per minute."),
            F("what", "base URL of the REST API", "https://api.lumen.example/v2",
              "The base URL of the REST API is https://api.lumen.example/v2."),
            F("many", "times is a failed webhook retried", "5",
              "A failed webhook is retried 5 times."),
            "Client libraries are maintained by the community.",
        ]),
    ]),
]
# fmt: on


def facts() -> list[tuple[str, F]]:
    """All facts in document order, each with its document stem."""
    return [
        (d.stem, it) for d in DOCS for _, items in d.sections for it in items if isinstance(it, F)
    ]


def render_doc(doc: Doc) -> str:
    """Markdown text of one documentation page."""
    parts = [f"# {doc.title}", doc.intro]
    for heading, items in doc.sections:
        parts.append(f"## {heading}")
        parts.append(" ".join(it.sentence if isinstance(it, F) else it for it in items))
    return "\n\n".join(parts) + "\n"


def templates_for(fact: F) -> list[str]:
    """Training templates of the fact's kind (no "in Lumen" when the subject names Lumen)."""
    own_name = "lumen" in fact.subject.lower()
    return [t for t in TRAIN_TEMPLATES[fact.kind] if not (own_name and "Lumen" in t)]


def chat(system: str, user: str, assistant: str) -> dict:
    """One fine-tuning example in OpenAI chat format."""
    return {
        "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": user},
            {"role": "assistant", "content": assistant},
        ]
    }


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def _check_fact(fact: F) -> None:
    """The sentence states the answer and contains every key word of the question."""
    assert fact.answer in fact.sentence, fact
    words = set(re.findall(r"\w+", fact.sentence.lower()))
    key = [
        w
        for w in re.findall(r"\w+", fact.subject.lower())
        if len(w) > 3 and w not in FUNCTION_WORDS
    ]
    assert all(w in words for w in key), fact


def build() -> dict[str, str | list[dict]]:
    """Return {path relative to usecases/: text or JSONL rows} for every support-qa file."""
    rng = random.Random(SEED)
    files: dict[str, str | list[dict]] = {f"{SLUG}/docs/{d.stem}.md": render_doc(d) for d in DOCS}
    eval_rows, pairs = [], []
    for i, (stem, fact) in enumerate(facts(), start=1):
        _check_fact(fact)
        question = EVAL_TEMPLATES[fact.kind].format(s=fact.subject)
        eval_rows.append(
            {"id": f"qa-{i:03d}", "input": question, "expected": fact.answer, "source": stem}
        )
        for template in rng.sample(templates_for(fact), rng.choice([5, 6])):
            pairs.append((template.format(s=fact.subject), fact.answer))
    eval_inputs = {_norm(row["input"]) for row in eval_rows}
    assert len(eval_inputs) == len(eval_rows), "duplicate eval question"
    assert len({_norm(p) for p, _ in pairs}) == len(pairs), "duplicate paraphrase"
    assert not {_norm(p) for p, _ in pairs} & eval_inputs, "paraphrase equals an eval question"
    train = [chat(SYSTEM, f"Question: {p}", answer) for p, answer in pairs]
    train += rng.sample(train, DUPLICATES)
    rng.shuffle(train)
    files[f"{SLUG}/eval.jsonl"] = eval_rows
    files[f"{SLUG}/train.jsonl"] = train
    files[f"{SLUG}/spec.yaml"] = SPEC
    return files


SPEC = """\
# yaml-language-server: $schema=../../docs/spec.schema.json
# Generated by usecases/generate.py (edit SPEC in usecases/gen_support.py).
name: support-qa
description: Answer customer questions about the Lumen app from its documentation.
task: qa
metrics:
  primary: token_f1
  guardrails:
    - metric: max_length
      max_chars: 200
      margin: 0.05
    - metric: llm_judge
      margin: 0.05
data:
  eval: eval.jsonl
  documents: docs
  training: train.jsonl
prompts:
  - name: zero-shot
    kind: zero_shot
    system: "You answer questions about the Lumen app. Answer briefly."
    template: "Question: {input}"
  - name: few-shot
    kind: few_shot
    system: "You answer questions about the Lumen app. Answer briefly."
    template: "Question: {input}"
    k: 4
  - name: chain-of-thought
    kind: chain_of_thought
    system: "You answer questions about the Lumen app. Think step by step, then give the final \
answer on a line starting with 'Answer:'."
    template: "Question: {input}"
rag:
  top_k: 3
  chunk_size: 600
  chunk_overlap: 80
  retriever: fts
fine_tuning:
  base_model: sandbox-base
  suffix: support-qa
  n_epochs: 3
  batch_size: 8
  learning_rate_multiplier: 1.0
  seed: 7
gates:
  prompting_to_rag:
    target: 0.8
    floor: 0.2
    min_detectable_gain: 0.1
    require_approval: false
  rag_to_fine_tuning:
    target: 0.9
    floor: 0.3
    min_detectable_gain: 0.1
    require_approval: true
constraints:
  external_api: true
  latency_p95_ms: 2000
approval:
  timeout_seconds: 3600
# The whole journey switches at once; docs/rollouts.md shows live traffic in steps.
rollout:
  steps: []
"""
