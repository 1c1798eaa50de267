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
	if KSR.sanity.sanity_check(17895, 7) < 0 then
		KSR.warn("malformed SIP request from " .. KSR.pv.get("$si") .. "\n")
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
	KSR.sl.sl_send_reply(404, "Not here")
	return true
end

-- request_route
function ksr_request_route()
	if not reqinit() then
		return 1
	end
	if KSR.is_CANCEL() then
		if KSR.tm.t_check_trans() > 0 then
			relay()
		end
		return 1
	end
	if not KSR.is_ACK() then
		if KSR.tmx.t_precheck_trans() > 0 then
			KSR.tm.t_check_trans()
			return 1
		end
		if KSR.tm.t_check_trans() == 0 then
			return 1
		end
	end
	if withindlg() then
		return 1
	end
	KSR.hdr.remove("Route")
	if KSR.is_INVITE() then
		KSR.rr.record_route()
	end

	if KSR.is_REGISTER() then
		-- warm the cache: the device's first emergency call will not wait
		KSR.e911.e911_prefetch(KSR.pv.gete("$fU"))
		if KSR.registrar.save("location", 0) < 0 then
			KSR.sl.sl_reply_error()
		end
		return 1
	end

	if KSR.is_INVITE() and KSR.e911.e911_is_emergency() > 0 then
		KSR.setflag(FLT_E911)
		KSR.tm.t_on_failure("ksr_failure_e911")
		-- runs ksr_e911_located now (cached caller) or when the lookup
		-- finished; either way this request route is done
		KSR.e911.e911_locate_async(KSR.pv.gete("$fU"), "ksr_e911_located")
		KSR.x.exit()
	end

	relay()
	return 1
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
	if KSR.tm.t_relay() < 0 and not KSR.isflagset(FLT_E911_FALLBACK) then
		KSR.setflag(FLT_E911_FALLBACK)
		KSR.e911.e911_fallback()
		KSR.tm.t_relay()
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
