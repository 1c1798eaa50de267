#!/usr/bin/env bash
# Validates the e911 module's docbook (modules/e911/doc) and generates
# modules/e911/README from it, the way Kamailio builds module READMEs
# (doc/docbook/Makefile: xsltproc with readme.xsl, then lynx -dump), offline.
#
#   scripts/gen-readme.sh           validate, then write modules/e911/README
#   scripts/gen-readme.sh --check   validate, and fail if README is out of date
#
# Needs (Debian): xsltproc docbook-xsl docbook-xml libxml2-utils lynx.
# The docbook refers to Kamailio's entities as ../../../../doc/docbook/
# entities.xml (right inside Kamailio's tree, src/modules/e911/doc); here the
# documents are copied into a temporary tree of that shape, with the entities
# and the README stylesheet of Kamailio's doc/docbook written below, so the
# text is the same as `make -C src/modules/e911/doc README` gives in-tree.
set -euo pipefail
cd "$(dirname "$0")/.."

check=0
case "${1:-}" in
--check) check=1 ;;
"") ;;
*)
	echo "usage: $0 [--check]" >&2
	exit 2
	;;
esac

for tool in xmllint xsltproc lynx; do
	if ! command -v "$tool" >/dev/null; then
		echo "gen-readme: $tool not found (apt-get install xsltproc docbook-xsl" \
			"docbook-xml libxml2-utils lynx)" >&2
		exit 1
	fi
done
if [ ! -f /usr/share/xml/docbook/stylesheet/docbook-xsl/xhtml/docbook.xsl ]; then
	echo "gen-readme: docbook-xsl not installed (apt-get install docbook-xsl)" >&2
	exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
doc="$tmp/src/modules/e911/doc"
dbk="$tmp/doc/docbook"
mkdir -p "$doc" "$dbk"
cp modules/e911/doc/e911.xml modules/e911/doc/e911_admin.xml "$doc/"

# The entities of Kamailio's doc/docbook/entities.xml the e911 docs may use.
cat >"$dbk/entities.xml" <<'EOF'
<!-- Entities often used in the documentation (subset of Kamailio's) -->
<!ENTITY kamailio "Kamailio">
<!ENTITY kamailiobinary "kamailio">
<!ENTITY kamailioname "Kamailio SIP Server Platform">
<!ENTITY kamailioconfig "kamailio.cfg">
<!ENTITY kamcmd "kamcmd">
<!ENTITY kamctl "kamctl">
<!ENTITY adminguide "Admin Guide">
<!ENTITY develguide "Developer Guide">
<!ENTITY sip "<acronym>SIP</acronym>">
<!ENTITY http "<acronym>HTTP</acronym>">
<!ENTITY uri "<acronym>URI</acronym>">
<!ENTITY url "<acronym>URL</acronym>">
<!ENTITY tls "<acronym>TLS</acronym>">
<!ENTITY libcurl "<ulink url='https://curl.haxx.se'>libcurl</ulink>">
EOF

# Kamailio's readme.xsl with what it imports (txt.xsl, html.common.xsl,
# common.xsl) folded into one stylesheet: same parameters, same templates.
cat >"$dbk/readme.xsl" <<'EOF'
<?xml version='1.0'?>
<xsl:stylesheet xmlns:xsl="http://www.w3.org/1999/XSL/Transform" version="1.0">
    <xsl:import href="http://docbook.sourceforge.net/release/xsl/current/xhtml/docbook.xsl"/>

    <xsl:output method="xml"/>

    <!-- html.common.xsl -->
    <xsl:param name="html.embedded.stylesheet"/>
    <xsl:param name="html.cleanup" select="1"/>
    <xsl:param name="html.stylesheet">ser.css</xsl:param>
    <xsl:param name="css.decoration">0</xsl:param>
    <xsl:param name="html.longdesc">0</xsl:param>
    <xsl:param name="ulink.target"/>
    <xsl:param name="use.viewport">0</xsl:param>
    <xsl:param name="chunker.output.encoding">UTF-8</xsl:param>
    <xsl:param name="chunker.output.indent">yes</xsl:param>
    <xsl:param name="chunker.output.doctype-public">-//W3C//DTD XHTML 1.0 Strict//EN</xsl:param>
    <xsl:param name="chunker.output.doctype-system">http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd</xsl:param>

    <!-- txt.xsl -->
    <xsl:param name="toc.section.depth">4</xsl:param>
    <xsl:param name="generate.section.toc.level">1</xsl:param>

    <!-- readme.xsl -->
    <xsl:param name="section.autolabel">1</xsl:param>
    <xsl:param name="section.label.includes.component.label">1</xsl:param>
    <xsl:param name="generate.toc">book toc,title,figure,table,example</xsl:param>

    <!-- common.xsl: normalised screens (leading line feeds and trailing
         white space of program listings removed) -->
    <xsl:template match="screen/text()|literallayout/text()|programlisting/text()">
	<xsl:variable name="before" select="preceding-sibling::node()"/>
	<xsl:variable name="after" select="following-sibling::node()"/>
	<xsl:variable name="conts" select="."/>
	<xsl:variable name="contsl">
	    <xsl:choose>
		<xsl:when test="count($before) = 0">
		    <xsl:call-template name="remove-lf-left">
			<xsl:with-param name="astr" select="$conts"/>
		    </xsl:call-template>
		</xsl:when>
		<xsl:otherwise>
		    <xsl:value-of select="$conts"/>
		</xsl:otherwise>
	    </xsl:choose>
	</xsl:variable>
	<xsl:variable name="contslr">
	    <xsl:choose>
		<xsl:when test="count($after) = 0">
		    <xsl:call-template name="remove-ws-right">
			<xsl:with-param name="astr" select="$contsl"/>
		    </xsl:call-template>
		</xsl:when>
		<xsl:otherwise>
		    <xsl:value-of select="$contsl"/>
		</xsl:otherwise>
	    </xsl:choose>
	</xsl:variable>
	<xsl:value-of select="$contslr"/>
    </xsl:template>

    <xsl:template name="remove-lf-left">
	<xsl:param name="astr"/>
	<xsl:choose>
	    <xsl:when test="starts-with($astr,'&#xA;') or starts-with($astr,'&#xD;')">
		<xsl:call-template name="remove-lf-left">
		    <xsl:with-param name="astr" select="substring($astr, 2)"/>
		</xsl:call-template>
	    </xsl:when>
	    <xsl:otherwise>
		<xsl:value-of select="$astr"/>
	    </xsl:otherwise>
	</xsl:choose>
    </xsl:template>

    <xsl:template name="remove-ws-right">
	<xsl:param name="astr"/>
	<xsl:variable name="last-char">
	    <xsl:value-of select="substring($astr, string-length($astr), 1)"/>
	</xsl:variable>
	<xsl:choose>
	    <xsl:when test="($last-char = '&#xA;') or ($last-char = '&#xD;') or
		    ($last-char = '&#x20;') or ($last-char = '&#x9;')">
		<xsl:call-template name="remove-ws-right">
		    <xsl:with-param name="astr"
			select="substring($astr, 1, string-length($astr) - 1)"/>
		</xsl:call-template>
	    </xsl:when>
	    <xsl:otherwise>
		<xsl:value-of select="$astr"/>
	    </xsl:otherwise>
	</xsl:choose>
    </xsl:template>

    <xsl:template name="user.head.content">
	<xsl:if test="$html.embedded.stylesheet != ''">
	    <xsl:text disable-output-escaping="yes">&lt;style type="text/css"&gt;</xsl:text>
	    <xsl:value-of select="$html.embedded.stylesheet"/>
	    <xsl:text disable-output-escaping="yes">&lt;style&gt;</xsl:text>
	</xsl:if>
    </xsl:template>
</xsl:stylesheet>
EOF

# Validation: both files well-formed with their entities resolved, and the
# book, with the chapter included, valid against the DocBook 4.4 DTD (from
# docbook-xml through /etc/xml/catalog: no network). The DTD does not know
# the xmlns:xi attribute every Kamailio module book carries for XInclude, so
# it is dropped from the merged copy that is validated.
xmllint --nonet --loaddtd --noout "$doc/e911_admin.xml"
xmllint --nonet --loaddtd --noent --xinclude --nofixup-base-uris \
	"$doc/e911.xml" >"$doc/merged.xml"
sed -i 's| xmlns:xi="http://www.w3.org/2001/XInclude"||' "$doc/merged.xml"
xmllint --nonet --noout --valid "$doc/merged.xml"

# HTML, then plain text: Kamailio's `xsltproc ... readme.xsl | lynx -dump`.
export LC_ALL=C.UTF-8 HOME="$tmp"
xsltproc --nonet --novalid --xinclude "$dbk/readme.xsl" "$doc/e911.xml" \
	>"$tmp/README.html"
lynx -nolist -display_charset=utf-8 -stdin -dump <"$tmp/README.html" \
	>"$tmp/README"

if [ "$check" = 1 ]; then
	if ! cmp -s "$tmp/README" modules/e911/README; then
		echo "gen-readme: modules/e911/README is out of date; run $0" >&2
		diff -u modules/e911/README "$tmp/README" | head -40 >&2 || true
		exit 1
	fi
	echo "gen-readme: modules/e911/README is up to date"
else
	cp "$tmp/README" modules/e911/README
	echo "gen-readme: wrote modules/e911/README ($(wc -l <modules/e911/README) lines)"
fi
