<%@ page contentType="text/html" %>
<% String name = request.getParameter("name"); %>
<p>Hello <%= org.owasp.encoder.Encode.forHtml(name) %></p>
