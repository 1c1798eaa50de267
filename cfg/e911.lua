-- kamailio-e911 reference routing logic in Lua (KEMI), loaded by
-- cfg/kamailio-lua.cfg. It does what cfg/kamailio.cfg does: emergency and
-- test calls are located without holding a worker (KSR.e911.e911_locate_async),
-- rewritten (KSR.e911.e911_route) and relayed, with a failure route that
-- retries toward the fallback route carrying the same location; everything
-- else is relayed untouched.
--
-- Remember: never call Lua's os.exit; KSR.x.exit() stops the script.

FLT_E911 = 1
FLT_E911_FALLBACK = 2
FLT_TRUSTED = 3 -- the e911 module's trusted_flag (kamailio-lua.cfg)

local function defined(name)
	return KSR.pv.get("$def(" .. name .. ")") ~= nil
end

-- The trust domain (RFC 3325): requests from the edge proxies / SBCs of
-- E911_TRUSTED_ADDRESSES (group 1) get FLT_TRUSTED, which the e911 module
-- reads: their P-Asserted-Identity and Geolocation are forwarded; everyone
-- else's identity is not, nor a by-reference location E911_GEOLOCATION_ALLOW
-- does not allow.
local function trust()
	if defined("E911_TRUSTED_ADDRESSES")
			and KSR.permissions.allow_source_address(1) > 0 then
		KSR.setflag(FLT_TRUSTED)
	end
end

-- The emergency caller's key: with WITH_AUTH the authenticated user (or the
-- From user of a trusted SBC's request), "" when not authenticated (the
-- module then routes to the fallback without a location; an emergency call
-- is never challenged); without WITH_AUTH the From user (see the trust
-- assumption in kamailio-lua.cfg).
local function emergency_key()
	local fu = KSR.pv.get("$fU") or ""
	if not defined("WITH_AUTH") or KSR.isflagset(FLT_TRUSTED) then
		return fu
	end
	if KSR.hdr.is_present("Proxy-Authorization") > 0
			and KSR.auth_db.auth_check(KSR.pv.get("$fd"), "subscriber", 0) > 0 then
		local au = KSR.pv.get("$au") or ""
		KSR.auth.consume_credentials()
		return au
	end
	KSR.warn("e911: emergency call from " .. KSR.pv.get("$si") .. ":"
		.. tostring(KSR.pv.get("$sp")) .. " (From user '" .. fu
		.. "') not authenticated: routing it to the fallback route without a location\n")
	return ""
end

local function relay()
	if KSR.tm.t_relay() < 0 then
		KSR.sl.sl_reply_error()
	end
end

local function reqinit()
	if KSR.maxfwd.process_maxfwd(10) < 0 then
		KSR.sl.sl_send_reply(483, "Too Many Hops")
		return false
	end
	-- an emergency or test call is classified once here (FLT_E911) and is
	-- never refused as malformed: it is relayed when tm can parse it (to the
	-- fallback route when nothing can be looked up), else answered with a
	-- 400 that says why
	if KSR.is_INVITE() and KSR.e911.e911_is_emergency() > 0 then
		KSR.setflag(FLT_E911)
		return true
	end
	-- in-dialog requests other than re-INVITEs go on even when malformed
	-- (they end calls, emergency calls included), so they are not checked
	if KSR.siputils.has_totag() > 0 and not KSR.is_INVITE() then
		return true
	end
	if KSR.sanity.sanity_check(17895, 7) < 0 then
		KSR.warn("malformed SIP request from " .. KSR.pv.get("$si") .. "\n")
		if not KSR.is_ACK() then
			KSR.sl.sl_send_reply(400, "Bad Request")
		end
		return false
	end
	return true
end

-- handles in-dialog requests; true when the request was dealt with
local function withindlg()
	if KSR.siputils.has_totag() < 0 then
		return false
	end
	if KSR.rr.loose_route() > 0 then
		relay()
		return true
	end
	if KSR.is_ACK() then
		if KSR.tm.t_check_trans() > 0 then
			relay()
		end
		return true
	end
	-- an emergency INVITE with a To-tag but no route set belongs to no
	-- dialog of ours: it is handled as a new emergency call, never refused
	if KSR.isflagset(FLT_E911) then
		KSR.warn("e911: emergency INVITE with a To-tag outside any dialog from "
			.. KSR.pv.get("$si") .. ": handled as a new emergency call\n")
		return false
	end
	KSR.sl.sl_send_reply(404, "Not here")
	return true
end

-- request_route
function ksr_request_route()
	-- cluster messages first: they are not calls
	if KSR.is_method("KDMQ") and defined("WITH_DMQ") then
		KSR.dmq.handle_message()
		return 1
	end
	if not reqinit() then
		return 1
	end
	trust()
	if KSR.is_CANCEL() then
		if KSR.tm.t_check_trans() > 0 then
			relay()
		end
		return 1
	end
	-- in-dialog requests are relayed at once (t_relay answers a
	-- retransmission from its transaction itself)
	if withindlg() then
		return 1
	end
	-- a retransmission of a new request tm already has: its last reply again
	-- (an emergency INVITE is also guarded before its transaction exists,
	-- below)
	if not KSR.is_ACK() and KSR.tm.t_check_trans() == 0 then
		return 1
	end
	KSR.hdr.remove("Route")
	if KSR.is_INVITE() then
		KSR.rr.record_route()
	end

	if KSR.is_REGISTER() then
		ksr_register()
		return 1
	end

	-- a PSAP calling back an emergency caller: mark it so the PBX behind
	-- us bypasses do-not-disturb and forwarding (RFC 7090)
	if KSR.is_INVITE() and KSR.e911.e911_is_psap_callback() > 0 then
		KSR.notice("e911: PSAP callback to '" .. KSR.pv.gete("$rU") .. "'\n")
		if KSR.hdr.is_present("Priority") < 0 then
			KSR.hdr.append("Priority: psap-callback\r\n")
		end
	end

	if KSR.isflagset(FLT_E911) then
		-- a retransmission arriving while the first copy is still being
		-- routed (before its transaction exists): never a second lookup
		if KSR.tmx.t_precheck_trans() > 0 then
			KSR.tm.t_check_trans()
			return 1
		end
		KSR.tm.t_on_failure("ksr_failure_e911")
		-- runs ksr_e911_located now (cached caller) or when the lookup
		-- finished; either way this request route is done
		KSR.e911.e911_locate_async(emergency_key(), "ksr_e911_located")
		KSR.x.exit()
	end

	-- WITH_AUTH: anything but an emergency call, a PSAP callback or a call
	-- to one of our users is relayed for authenticated callers only
	if defined("WITH_AUTH") and not KSR.isflagset(FLT_TRUSTED)
			and not KSR.is_myself_ruri() and KSR.siputils.has_totag() < 0
			and not KSR.is_ACK() and not KSR.is_CANCEL() then
		local fd = KSR.pv.get("$fd")
		if KSR.auth_db.auth_check(fd, "subscriber", 0) < 0 then
			KSR.auth.auth_challenge(fd, 0)
			return 1
		end
		KSR.auth.consume_credentials()
	end

	relay()
	return 1
end

-- Registration: with -A E911_REGISTER_CHECK warn a device without a
-- validated, dispatchable location (or that moved), with -A
-- E911_REGISTER_REFUSE refuse it; otherwise only warm the cache.
function ksr_register()
	local fu = KSR.pv.gete("$fU")
	-- WITH_AUTH: a binding only for its authenticated owner
	if defined("WITH_AUTH") and not KSR.isflagset(FLT_TRUSTED) then
		local td = KSR.pv.get("$td")
		local rc = KSR.auth_db.auth_check(td, "subscriber", 1)
		if rc == -8 then
			KSR.sl.sl_send_reply(403, "Forbidden auth ID")
			return
		end
		if rc < 0 then
			KSR.auth.auth_challenge(td, 0)
			return
		end
		KSR.auth.consume_credentials()
	end
	local refuse = KSR.pv.get("$def(E911_REGISTER_REFUSE)") ~= nil
	local check = refuse or KSR.pv.get("$def(E911_REGISTER_CHECK)") ~= nil
	if check then
		local rc = KSR.e911.e911_check(fu)
		if rc == -1 or rc == -2 then
			local why = tostring(KSR.e911.e911_get("check"))
			KSR.warn("e911: '" .. fu .. "' registers without a dispatchable location (" .. why .. ")\n")
			if refuse then
				KSR.sl.sl_send_reply(403, "Emergency address required")
				return
			end
			KSR.textops.append_to_reply("Warning: 399 " .. KSR.pv.get("$Ri")
				.. " \"Update your emergency address (" .. why .. ")\"\r\n")
		end
		if KSR.e911.e911_get("moved") == 1 then
			KSR.textops.append_to_reply("Warning: 399 " .. KSR.pv.get("$Ri")
				.. " \"Network changed: confirm your emergency address\"\r\n")
		end
	else
		-- warm the cache: the device's first emergency call will not wait
		KSR.e911.e911_prefetch(fu)
	end
	if KSR.registrar.save("location", 0) < 0 then
		KSR.sl.sl_reply_error()
	end
end

-- Location references (E911_HTTP): answer /e911/loc/<token>, 404 otherwise.
function ksr_xhttp_event(evname)
	local hu = KSR.pv.get("$hu") or ""
	if string.sub(hu, 1, 10) == "/e911/loc/" then
		KSR.e911.e911_dereference()
		return 1
	end
	KSR.xhttp.xhttp_reply(404, "Not Found", "text/plain", "not here\n")
	return 1
end

-- No transaction possible (a request tm cannot parse: a second From, To,
-- CSeq, Call-ID or Content-Length, a From it cannot read): relay the
-- emergency call statelessly toward the fallback - never to this proxy
-- itself - and when even that cannot be built, answer 400 with the reason.
function e911_stateless()
	if KSR.is_myself_ruri() then
		local fb = string.gsub(KSR.pv.get("$def(E911_FALLBACK_ROUTE)") or "", '^"(.*)"$', "%1")
		KSR.pv.sets("$ru", fb)
	end
	KSR.err("e911: relaying the emergency call statelessly to " .. tostring(KSR.pv.get("$ru")) .. "\n")
	if KSR.forward() > 0 then
		return
	end
	local why = "unreadable request"
	if KSR.pv.get("$fu") == nil then
		why = "invalid From header"
	elseif KSR.pv.get("$tu") == nil then
		why = "invalid To header"
	elseif KSR.pv.get("$ci") == nil then
		why = "invalid Call-ID header"
	elseif KSR.pv.get("$cs") == nil then
		why = "invalid CSeq header"
	end
	KSR.err("e911: the emergency call cannot be relayed (" .. why .. "): answering 400\n")
	KSR.sl.sl_send_reply(400, "Bad Request (" .. why .. ")")
end

-- runs with $e911(...) set
function ksr_e911_located(evname)
	local routed = KSR.e911.e911_route()
	if routed == 2 then
		KSR.setflag(FLT_E911_FALLBACK)
	end
	-- on-site notification; returns at once, never delays the call
	KSR.e911.e911_notify()
	KSR.notice("e911: class " .. tostring(KSR.e911.e911_get("class"))
		.. " call from '" .. KSR.pv.gete("$fU") .. "' location "
		.. tostring(KSR.e911.e911_get("status")) .. " ("
		.. tostring(KSR.e911.e911_get("source")) .. ") routed ("
		.. routed .. ") to " .. KSR.pv.get("$ru") .. "\n")
	KSR.tm.t_on_failure("ksr_failure_e911")
	if KSR.tm.t_relay() < 0 then
		KSR.err("e911: cannot relay to " .. tostring(KSR.pv.get("$ru"))
			.. ", trying the fallback route\n")
		if not KSR.isflagset(FLT_E911_FALLBACK) then
			KSR.setflag(FLT_E911_FALLBACK)
			KSR.e911.e911_fallback()
			if KSR.tm.t_relay() > 0 then
				return 1
			end
		end
		e911_stateless()
	end
	return 1
end

-- the emergency branch failed: retry toward the fallback route
function ksr_failure_e911()
	if KSR.tm.t_is_canceled() > 0 then
		return 1
	end
	if KSR.isflagset(FLT_E911_FALLBACK) then
		KSR.err("e911: the fallback route failed too\n")
		return 1
	end
	KSR.setflag(FLT_E911_FALLBACK)
	KSR.warn("e911: emergency branch failed, retrying toward the fallback route\n")
	KSR.e911.e911_fallback()
	KSR.tm.t_relay()
	return 1
end
